"""Detached runs: the snakemake-aws-batch command, the coordinator job and its sources."""
