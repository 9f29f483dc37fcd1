"""The contract between the control app and storage nodes.

Everything here may be imported by both sides: error codes, Redis key and
queue names, the on-disk layout of a pool and the upload token's claims.
Nothing here imports the control app or an ORM.
"""
