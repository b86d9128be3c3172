"""Resuming a run: the AWS Batch jobs of an earlier run of the same workflow, found, matched
with the jobs Snakemake hands over, adopted or cancelled."""
