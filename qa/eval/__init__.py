"""Evaluation of citeqa against question sets: metrics, baselines and reports (`citeqa eval`)."""
