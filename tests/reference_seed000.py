"""Independent restatement of the seed-000 SpAtten lookahead simulator (the reference).

Plain Python scalar loops in float64, written from the "Model semantics" of the issue and
sharing nothing with spattenc: Python `int()` truncation, numpy round-half-even, the legacy
`numpy.random.RandomState(seed)` with one binomial draw per layer, trial-major, layer-minor.
"""

from __future__ import annotations

import numpy as np

#: The seed's CONFIG (defaults of specs/cv_demo.spt).
DEFAULTS: dict[str, float | int] = {
    "num_layers": 12,
    "initial_seq_len": 512,
    "initial_heads": 12,
    "token_pruning_rate": 0.20,
    "score_comp_factor": 0.50,
    "proxy_col_sum_factor": 0.001,
    "top_k_factor": 0.01,
    "qk_mult_factor": 0.10,
    "softmax_factor": 0.0008,
    "av_mult_factor": 0.10,
    "predictor_compute_factor": 0.001,
    "mem_latency": 20,
    "bytes_per_token_vecs": 3,
    "embedding_dim": 768,
    "bytes_per_element": 2,
    "bandwidth_Gb_per_s": 1024.0,
    "clock_speed_ghz": 1.0,
    "saturation_window_multiplier": 1.0,
    "predictor_precision": 0.995,
    "predictor_recall": 0.995,
    "speculative_fetch_vecs": 1,
    "corrective_fetch_vecs": 1,
}

BASELINE_METRICS = ("total_cycles", "dram_mb")
LOOKAHEAD_METRICS = ("total_cycles", "dram_mb", "wasted_mb", "avg_hidden_cycles", "lookahead_finish_rate")


class Model:
    """Derived constants and cost functions of one configuration."""

    def __init__(self, **overrides):
        unknown = set(overrides) - set(DEFAULTS)
        if unknown:
            raise KeyError(f"unknown params {sorted(unknown)}")
        p = dict(DEFAULTS, **overrides)
        self.p = p
        self.bytes_per_vec = p["embedding_dim"] * p["bytes_per_element"]
        self.qkv_bytes = self.bytes_per_vec * p["bytes_per_token_vecs"]
        self.bytes_per_cycle = p["bandwidth_Gb_per_s"] * 1e9 / 8 / (p["clock_speed_ghz"] * 1e9)
        self.window = self.bytes_per_cycle * p["mem_latency"] * p["saturation_window_multiplier"]

    # ---- stage latencies
    @staticmethod
    def _stage(f, term, n, h):
        if n <= 0 or h <= 0:
            return 1
        return max(1, min(1e12, f * term))

    def qk(self, n, h):
        return self._stage(self.p["qk_mult_factor"], n * n * h, n, h)

    def softmax(self, n, h):
        return self._stage(self.p["softmax_factor"], n * n * h, n, h)

    def av(self, n, h):
        return self._stage(self.p["av_mult_factor"], n * n * h, n, h)

    def score(self, n, h):
        return self._stage(self.p["score_comp_factor"], n * n * h, n, h)

    def proxy(self, n, h):
        return self._stage(self.p["proxy_col_sum_factor"], n * n, n, h)

    def top_k(self, n, h):
        return self._stage(self.p["top_k_factor"], n, n, h)

    def predictor(self, n, h):
        return self._stage(self.p["predictor_compute_factor"], n, n, h)

    def fetch(self, tokens, vecs):
        # The seed charges one cycle when there is nothing to fetch: no tokens, or no bytes
        # per token (`vecs` = 0), whatever the DRAM latency.
        if tokens <= 0 or self.bytes_per_vec * vecs <= 0:
            return 1
        nbytes = tokens * self.bytes_per_vec * vecs
        over = (nbytes - self.window) / self.bytes_per_cycle if (self.window > 0 and nbytes > self.window) else 0
        return max(1, min(1e12, self.p["mem_latency"] + nbytes / self.bytes_per_cycle + over))

    def next_tokens(self, n):
        return int(max(1, n * (1 - self.p["token_pruning_rate"])))

    # ---- one trial of each design
    def baseline(self) -> dict[str, float]:
        p = self.p
        n, h = p["initial_seq_len"], p["initial_heads"]
        time = 0.0
        dram = 0
        for _layer in range(p["num_layers"]):
            time += self.fetch(n, p["bytes_per_token_vecs"])
            time += self.qk(n, h)
            time += self.softmax(n, h)
            time += self.av(n, h)
            time += self.score(n, h)
            time += self.top_k(n, h)
            dram += n * self.qkv_bytes
            n = self.next_tokens(n)
        return {"total_cycles": time, "dram_mb": dram / 1e6}

    def lookahead(self, rs: np.random.RandomState) -> dict[str, float]:
        p = self.p
        n, h = p["initial_seq_len"], p["initial_heads"]
        time = 0.0
        dram = 0
        wasted = 0
        hidden = 0.0
        finished = 0
        vec_bytes_spec = self.bytes_per_vec * p["speculative_fetch_vecs"]
        for _layer in range(p["num_layers"]):
            k = self.next_tokens(n)
            tp = int(rs.binomial(k, p["predictor_recall"]))
            pred = min(int(np.round(tp / p["predictor_precision"])), n)
            fp = max(0, pred - tp)
            fn = max(0, k - tp)
            start = time + self.fetch(n, p["bytes_per_token_vecs"])
            dram += n * self.qkv_bytes
            par = start + self.qk(n, h) + self.softmax(n, h)
            av = self.av(n, h)
            a_end = par + av + self.fetch(fn, p["corrective_fetch_vecs"])
            look = self.predictor(n, h) + self.proxy(n, h) + self.top_k(n, h)
            spec = self.fetch(pred, p["speculative_fetch_vecs"])
            b_end = par + look + spec
            if b_end <= par + av:
                finished += 1
            hidden += min(av, look + spec)
            time = max(a_end, b_end)
            dram += pred * vec_bytes_spec
            wasted += fp * vec_bytes_spec
            n = k
        layers = p["num_layers"]
        return {"total_cycles": time, "dram_mb": dram / 1e6, "wasted_mb": wasted / 1e6,
                "avg_hidden_cycles": hidden / layers, "lookahead_finish_rate": finished / layers}


def _stats(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    return {"mean": float(np.mean(arr)), "std": float(np.std(arr)), "min": float(np.min(arr)),
            "max": float(np.max(arr))}


def simulate(trials: int = 50, seed: int = 42, **overrides) -> dict:
    """Monte-Carlo over `trials` with the legacy RandomState: per design and metric the
    mean, population std (ddof=0), min and max, plus improvement_pct of the means."""
    model = Model(**overrides)
    rs = np.random.RandomState(seed)
    base_runs, look_runs = [], []
    for _trial in range(trials):
        base_runs.append(model.baseline())
        look_runs.append(model.lookahead(rs))
    designs = {
        "baseline": {m: _stats([r[m] for r in base_runs]) for m in BASELINE_METRICS},
        "lookahead": {m: _stats([r[m] for r in look_runs]) for m in LOOKAHEAD_METRICS},
    }
    b = designs["baseline"]["total_cycles"]["mean"]
    la = designs["lookahead"]["total_cycles"]["mean"]
    return {"designs": designs, "compare": {"improvement_pct": (b - la) / b * 100}}
