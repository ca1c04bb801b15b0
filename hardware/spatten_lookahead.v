// SpAtten speculative lookahead: cycle-level RTL of one pass over the layers.
//
// Hand-written; `spattenc verify specs/cv_demo.spt` checks it against design `lookahead`
// of that spec (its `hardware spatten_lookahead` block) on random configurations.
//
// Per layer it runs stage timers, one clock cycle per cycle of work:
//
//   fetch QKV -> QK -> softmax -> +-> AV -> corrective fetch ---------------------+-> next layer
//                                 +-> predictor -> proxy -> top-k -> spec. fetch -+
//
// and counts real clock cycles (every cycle a stage is running), DRAM bytes (QKV fetches
// and speculative fetches, counted when issued), and per layer the cycles of AV overlapped
// by the lookahead path (hidden) and whether the speculative fetch ended no later than AV
// (finished).  Stage lengths follow the spec's fixed-point semantics: configuration reals
// are two's complement with 32 fraction bits, and each stage lasts its cost rounded up to
// whole cycles, at least 1 and at most 10^12.
//
// Interface (docs/verilog.md): pulse `start` while idle; `layer` is the layer in progress
// and selects the environment's `tp` (true positives of the predictor in that layer);
// `layer_done` pulses once per finished layer with `hidden_cycles` and `finished` valid;
// `done` rises one cycle after the last layer and stays high until the next start.
`default_nettype none
// Stage arithmetic is done on 128-bit signed values; narrower operands extend into it.
/* verilator lint_off WIDTHEXPAND */
/* verilator lint_off WIDTHTRUNC */

module spatten_lookahead (
    input  wire               clk,
    input  wire               rst,
    input  wire               start,
    output reg                done,
    output reg         [15:0] layer,
    output reg                layer_done,
    // configuration (integers; Q32 where marked)
    input  wire signed [15:0] num_layers,
    input  wire signed [31:0] initial_seq_len,
    input  wire signed [15:0] initial_heads,
    input  wire signed [63:0] token_pruning_rate,        // Q32
    input  wire signed [63:0] qk_mult_factor,            // Q32, cycles per N*N*H
    input  wire signed [63:0] softmax_factor,            // Q32, cycles per N*N*H
    input  wire signed [63:0] av_mult_factor,            // Q32, cycles per N*N*H
    input  wire signed [63:0] predictor_compute_factor,  // Q32, cycles per N
    input  wire signed [63:0] proxy_col_sum_factor,      // Q32, cycles per N*N
    input  wire signed [63:0] top_k_factor,              // Q32, cycles per N
    input  wire signed [63:0] mem_latency,               // Q32, cycles
    input  wire signed [15:0] bytes_per_token_vecs,
    input  wire signed [15:0] speculative_fetch_vecs,
    input  wire signed [15:0] corrective_fetch_vecs,
    input  wire signed [31:0] bytes_per_vec,
    input  wire signed [31:0] qkv_bytes,
    input  wire signed [63:0] bytes_per_cycle,           // Q32
    input  wire signed [95:0] window,                    // Q32, bytes
    input  wire signed [63:0] predictor_precision,       // Q32
    input  wire signed [31:0] tp,                        // of layer `layer`
    // measured figures
    output reg         [63:0] total_cycles,
    output reg         [63:0] dram_bytes,
    output reg         [63:0] hidden_cycles,
    output reg                finished
);

    localparam signed [127:0] ONE = 128'sd4294967296;  // 1.0 in Q32
    localparam signed [127:0] MAX_CYCLES = 128'sd1000000000000;

    // ---------------------------------------------------------------- stage lengths
    // (automatic: several continuous assignments call these at once)
    // A Q32 cost in cycles -> whole cycles: rounded up, then kept within [1, 10^12].
    function automatic [63:0] whole_cycles(input signed [127:0] cost);
        reg signed [127:0] c;
        begin
            c = (cost + (ONE - 1)) >>> 32;
            if (c < 1) c = 1;
            if (c > MAX_CYCLES) c = MAX_CYCLES;
            whole_cycles = c[63:0];
        end
    endfunction

    // A compute unit: factor * work cycles (one cycle when there is nothing to do).
    function automatic [63:0] compute_cycles(input signed [127:0] factor, input signed [127:0] work,
                                   input signed [127:0] n, input signed [127:0] h);
        compute_cycles = (n <= 0 || h <= 0) ? 64'd1 : whole_cycles(factor * work);
    endfunction

    // A DRAM fetch of `vecs` vectors per token: latency plus transfer, plus the bytes
    // beyond the bandwidth-saturation window transferred once more.  Quotients truncate.
    // Nothing to move (no tokens, or no bytes per token) takes one cycle, not the latency.
    // (Every input is an argument: a continuous assignment re-evaluates a function only
    // when its arguments change.)
    function automatic [63:0] fetch_cycles(input signed [127:0] tokens, input signed [127:0] vecs,
                                           input signed [127:0] vec_bytes, input signed [127:0] per_cycle,
                                           input signed [127:0] win, input signed [127:0] latency);
        reg signed [127:0] bytes, transfer, over;
        begin
            bytes = tokens * vec_bytes * vecs;
            transfer = (bytes <<< 64) / per_cycle;
            if (win > 0 && (bytes <<< 32) > win)
                over = (((bytes <<< 32) - win) <<< 32) / per_cycle;
            else
                over = 0;
            fetch_cycles = (tokens <= 0 || vec_bytes * vecs <= 0) ? 64'd1 : whole_cycles(latency + transfer + over);
        end
    endfunction

    // ---------------------------------------------------------------- this layer
    reg signed [31:0] N;  // tokens alive in this layer
    wire signed [127:0] n = N;
    wire signed [127:0] h = initial_heads;

    // Tokens kept for the next layer: N * (1 - rate), at least 1, truncated.
    wire signed [127:0] kept_q = n * (ONE - token_pruning_rate);
    wire signed [127:0] n_next = ((kept_q < ONE) ? ONE : kept_q) >>> 32;

    // The predictor's guess: tp / precision rounded to the nearest integer (ties to
    // even), at most N; the tokens it missed are fetched afterwards.
    wire signed [127:0] tp_wide = tp;
    wire signed [127:0] ratio_q = (tp_wide <<< 64) / predictor_precision;
    wire signed [127:0] ratio_floor = ratio_q >>> 32;
    wire round_up = (ratio_q[31:0] > 32'h80000000) || (ratio_q[31:0] == 32'h80000000 && ratio_floor[0]);
    wire signed [127:0] ratio_round = ratio_floor + (round_up ? 1 : 0);
    wire signed [127:0] predicted = (ratio_round < n) ? ratio_round : n;
    wire signed [127:0] missed = (n_next - tp > 0) ? n_next - tp : 0;

    wire [63:0] qk_len = compute_cycles(qk_mult_factor, n * n * h, n, h);
    wire [63:0] softmax_len = compute_cycles(softmax_factor, n * n * h, n, h);
    wire [63:0] av_len = compute_cycles(av_mult_factor, n * n * h, n, h);
    wire [63:0] predictor_len = compute_cycles(predictor_compute_factor, n, n, h);
    wire [63:0] proxy_len = compute_cycles(proxy_col_sum_factor, n * n, n, h);
    wire [63:0] top_k_len = compute_cycles(top_k_factor, n, n, h);
    wire [63:0] spec_fetch_len = fetch_cycles(predicted, speculative_fetch_vecs, bytes_per_vec, bytes_per_cycle, window, mem_latency);
    wire [63:0] corrective_len = fetch_cycles(missed, corrective_fetch_vecs, bytes_per_vec, bytes_per_cycle, window, mem_latency);
    wire [63:0] spec_fetch_bytes = predicted * bytes_per_vec * speculative_fetch_vecs;

    // ---------------------------------------------------------------- control
    localparam [2:0] IDLE = 3'd0, FETCH = 3'd1, QK = 3'd2, SOFTMAX = 3'd3, PARALLEL = 3'd4, FINISH = 3'd5;
    localparam [1:0] A_AV = 2'd0, A_CORRECTIVE = 2'd1, A_DONE = 2'd2;
    localparam [2:0] B_PREDICTOR = 3'd0, B_PROXY = 3'd1, B_TOP_K = 3'd2, B_SPEC_FETCH = 3'd3, B_DONE = 3'd4;

    reg [2:0] phase;
    reg [63:0] left;    // cycles left in the current sequential stage, this one included
    reg [1:0] a_phase;  // AV path
    reg [63:0] a_left;
    reg [2:0] b_phase;  // lookahead path
    reg [63:0] b_left;
    reg [63:0] hidden;  // AV cycles so far with the lookahead path still running
    reg b_ahead;        // the lookahead path had ended when AV ended

    wire a_last = (a_phase == A_DONE) || (a_phase == A_CORRECTIVE && a_left == 1);
    wire b_last = (b_phase == B_DONE) || (b_phase == B_SPEC_FETCH && b_left == 1);
    wire overlap = (a_phase == A_AV) && (b_phase != B_DONE);

    always @(posedge clk) begin
        if (rst) begin
            phase <= IDLE;
            done <= 1'b0;
            layer <= 0;
            layer_done <= 1'b0;
            total_cycles <= 0;
            dram_bytes <= 0;
            hidden_cycles <= 0;
            finished <= 1'b0;
        end else begin
            layer_done <= 1'b0;
            if (phase != IDLE && phase != FINISH)
                total_cycles <= total_cycles + 1;
            case (phase)
                IDLE: if (start) begin
                    done <= 1'b0;
                    layer <= 0;
                    N <= initial_seq_len;
                    total_cycles <= 0;
                    if (num_layers <= 0) begin
                        dram_bytes <= 0;
                        phase <= FINISH;
                    end else begin
                        dram_bytes <= initial_seq_len * qkv_bytes;
                        left <= fetch_cycles(initial_seq_len, bytes_per_token_vecs, bytes_per_vec, bytes_per_cycle, window,
                                             mem_latency);
                        phase <= FETCH;
                    end
                end
                FETCH: if (left == 1) begin
                    left <= qk_len;
                    phase <= QK;
                end else left <= left - 1;
                QK: if (left == 1) begin
                    left <= softmax_len;
                    phase <= SOFTMAX;
                end else left <= left - 1;
                SOFTMAX: if (left == 1) begin
                    a_phase <= A_AV;
                    a_left <= av_len;
                    b_phase <= B_PREDICTOR;
                    b_left <= predictor_len;
                    hidden <= 0;
                    b_ahead <= 1'b0;
                    phase <= PARALLEL;
                end else left <= left - 1;
                PARALLEL: begin
                    if (overlap) hidden <= hidden + 1;
                    // AV, then the corrective fetch
                    case (a_phase)
                        A_AV: if (a_left == 1) begin
                            b_ahead <= b_last;
                            a_phase <= A_CORRECTIVE;
                            a_left <= corrective_len;
                        end else a_left <= a_left - 1;
                        A_CORRECTIVE: if (a_left == 1) a_phase <= A_DONE;
                                      else a_left <= a_left - 1;
                        default: ;
                    endcase
                    // predictor, proxy column sums, top-k, then the speculative fetch
                    case (b_phase)
                        B_PREDICTOR: if (b_left == 1) begin
                            b_phase <= B_PROXY;
                            b_left <= proxy_len;
                        end else b_left <= b_left - 1;
                        B_PROXY: if (b_left == 1) begin
                            b_phase <= B_TOP_K;
                            b_left <= top_k_len;
                        end else b_left <= b_left - 1;
                        B_TOP_K: if (b_left == 1) begin
                            b_phase <= B_SPEC_FETCH;
                            b_left <= spec_fetch_len;
                            dram_bytes <= dram_bytes + spec_fetch_bytes;
                        end else b_left <= b_left - 1;
                        B_SPEC_FETCH: if (b_left == 1) b_phase <= B_DONE;
                                      else b_left <= b_left - 1;
                        default: ;
                    endcase
                    // Both paths end in this cycle: the layer is over.
                    if (a_last && b_last) begin
                        layer_done <= 1'b1;
                        hidden_cycles <= hidden + (overlap ? 1 : 0);
                        finished <= b_ahead;
                        N <= n_next[31:0];
                        layer <= layer + 1;
                        if ($signed({16'd0, layer}) + 1 >= num_layers) begin
                            phase <= FINISH;
                        end else begin
                            dram_bytes <= dram_bytes + n_next * qkv_bytes;
                            left <= fetch_cycles(n_next, bytes_per_token_vecs, bytes_per_vec, bytes_per_cycle, window,
                                                     mem_latency);
                            phase <= FETCH;
                        end
                    end
                end
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
