"""Benchmarks of the aws-batch executor on the local AWS Batch endpoint (``make bench``)."""
