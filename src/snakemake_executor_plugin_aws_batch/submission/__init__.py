"""Handing jobs to AWS Batch: the paced submitter, array jobs, job definitions."""
