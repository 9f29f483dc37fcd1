"""The contract between the control app and storage nodes.

Everything here may be imported by both sides: error codes, Redis key and
queue names, job names and their arguments, the internal API's paths and
messages, upload tokens and replication grants, the on-disk layout of a pool,
link signing and the version. Nothing here imports another package of the
project, nor an ORM or a web framework.
"""
