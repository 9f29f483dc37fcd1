"""What every node job runs with, whichever family it belongs to (variants and
visibility in ``node_worker``, ``moves``, ``backup``): its context, the lock on an
image's files, and the node's own lanes to enqueue onto. The worker process in
``node_worker`` imports the job families; they import only this package.
"""
