// GEMM on an output-stationary systolic array: cycle-level RTL of the array's controller.
//
// Hand-written; `spattenc verify specs/systolic_gemm.spt` checks it against design `array`
// of that spec (its `hardware systolic_gemm` block) on random configurations.
//
// Per GEMM (one `layer`) it runs, one clock cycle per cycle of work:
//
//   load the first tile's panels -> fill the array -> tiles -> drain the last results
//
// and, for each output tile, two engines side by side: the array computes the tile (K
// rank-1 updates, one per cycle) while the DMA engine loads the next tile's A and B
// panels into the other buffer (none after the last tile).  A tile ends when both are
// done; the cycles in which the array has finished and waits for the DMA are stalls.
// The tile counts and the DMA time are computed as the spec's fixed-point semantics
// compute them: tiles = ceil(M / rows) * ceil(N / cols); DMA cycles per tile =
// ceil(panel bytes / bytes_per_cycle), with bytes_per_cycle in Q32 and the quotient
// truncated to 32 fraction bits before it is rounded up.
//
// Interface (docs/verilog.md): pulse `start` while idle; `layer` is the GEMM in progress;
// `layer_done` pulses once per finished GEMM with `gemm_cycles` valid; `done` rises one
// cycle after the last GEMM and stays high until the next start.  Every stage must last
// at least one cycle (the spec's limits guarantee it: rows, cols >= 2, M, N, K >= 1).
`default_nettype none
// Arithmetic is done at the width of its destination; narrower operands extend into it.
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */

module systolic_gemm (
    input  wire               clk,
    input  wire               rst,
    input  wire               start,
    output reg                done,
    output reg         [15:0] layer,
    output reg                layer_done,
    // configuration
    input  wire signed [31:0] num_gemms,
    input  wire signed [31:0] M,
    input  wire signed [31:0] N,
    input  wire signed [31:0] K,
    input  wire signed [31:0] array_rows,
    input  wire signed [31:0] array_cols,
    input  wire signed [31:0] bytes_per_element,
    input  wire signed [63:0] bytes_per_cycle,  // Q32
    // measured figures
    output reg         [63:0] total_cycles,
    output reg         [63:0] stall_cycles,
    output reg         [63:0] gemm_cycles
);

    // ---------------------------------------------------------------- this GEMM's shape
    wire [63:0] tiles_m = (M + array_rows - 1) / array_rows;
    wire [63:0] tiles_n = (N + array_cols - 1) / array_cols;
    wire [63:0] tiles = tiles_m * tiles_n;

    // DMA cycles per tile: (bytes << 64) / bytes_per_cycle is the Q32 quotient, truncated;
    // rounded up to whole cycles.
    wire signed [127:0] panel_bytes = (array_rows + array_cols) * K * bytes_per_element;
    wire signed [127:0] dma_q32 = (panel_bytes <<< 64) / bytes_per_cycle;
    wire [63:0] dma_cycles = (dma_q32 + 128'sd4294967295) >>> 32;

    wire [63:0] fill_cycles = array_rows + array_cols - 2;  // skewed operands reach the far corner
    wire [63:0] drain_cycles = array_rows;                  // results shift out row by row

    // ---------------------------------------------------------------- control
    localparam [2:0] IDLE = 3'd0, LOAD = 3'd1, FILL = 3'd2, TILES = 3'd3, DRAIN = 3'd4, FINISH = 3'd5;

    reg [2:0] phase;
    reg [63:0] left;        // cycles left in LOAD, FILL or DRAIN, this one included
    reg [63:0] tile;        // the tile in progress, from 1
    reg [63:0] mac_left;    // array: rank-1 updates left in this tile
    reg [63:0] dma_left;    // DMA: cycles left loading the next tile's panels
    reg [63:0] this_gemm;   // cycles of this GEMM before the current one

    wire tile_last = (mac_left <= 1) && (dma_left <= 1);  // both engines end in this cycle

    always @(posedge clk) begin
        if (rst) begin
            phase <= IDLE;
            done <= 1'b0;
            layer <= 0;
            layer_done <= 1'b0;
            total_cycles <= 0;
            stall_cycles <= 0;
            gemm_cycles <= 0;
        end else begin
            layer_done <= 1'b0;
            if (phase != IDLE && phase != FINISH) begin
                total_cycles <= total_cycles + 1;
                this_gemm <= this_gemm + 1;
            end
            case (phase)
                IDLE: if (start) begin
                    done <= 1'b0;
                    layer <= 0;
                    total_cycles <= 0;
                    stall_cycles <= 0;
                    this_gemm <= 0;
                    left <= dma_cycles;
                    phase <= (num_gemms <= 0) ? FINISH : LOAD;
                end
                LOAD: if (left == 1) begin
                    left <= fill_cycles;
                    phase <= FILL;
                end else left <= left - 1;
                FILL: if (left == 1) begin
                    tile <= 1;
                    mac_left <= K;
                    dma_left <= (tiles > 1) ? dma_cycles : 0;
                    phase <= TILES;
                end else left <= left - 1;
                TILES: begin
                    if (mac_left != 0) mac_left <= mac_left - 1;
                    else stall_cycles <= stall_cycles + 1;  // the array waits for its operands
                    if (dma_left != 0) dma_left <= dma_left - 1;
                    if (tile_last) begin
                        if (tile == tiles) begin
                            left <= drain_cycles;
                            phase <= DRAIN;
                        end else begin
                            tile <= tile + 1;
                            mac_left <= K;
                            dma_left <= (tile + 1 < tiles) ? dma_cycles : 0;
                        end
                    end
                end
                DRAIN: if (left == 1) begin
                    layer_done <= 1'b1;
                    gemm_cycles <= this_gemm + 1;
                    this_gemm <= 0;
                    layer <= layer + 1;
                    if ($signed({16'd0, layer}) + 1 >= num_gemms) begin
                        phase <= FINISH;
                    end else begin
                        left <= dma_cycles;
                        phase <= LOAD;
                    end
                end else left <= left - 1;
                FINISH: begin
                    done <= 1'b1;
                    phase <= IDLE;
                end
                default: phase <= IDLE;
            endcase
        end
    end

endmodule

/* verilator lint_on WIDTHTRUNC */
/* verilator lint_on WIDTHEXPAND */
`default_nettype wire
