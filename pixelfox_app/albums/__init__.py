"""Albums: who sees and edits them, the operations on them, and their JSON API."""
