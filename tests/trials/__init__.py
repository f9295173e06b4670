"""Randomized trials on the real stack: callers, callbacks and faults drawn from a seed, then
checks that nothing acknowledged is lost or doubled and that agents were offered calls in
the ideal single-queue order (``make trials``; ``python -m tests.trials --seed S``)."""
