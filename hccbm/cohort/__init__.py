"""Research cohorts: input, synthetic data, screening, statistics, prediction models and reports."""
