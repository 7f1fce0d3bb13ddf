"""The behaviour cache: the flow store, per-flow statistics, Memory.do, and splicing handovers."""
