/** Per-I/O latency of the initiator's perf loop: the project's one histogram (src/stats). */
export { LatencyHistogram } from '../src/stats/latency-histogram.js';
