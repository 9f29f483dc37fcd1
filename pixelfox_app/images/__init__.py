"""Images as the outside world sees them: their URLs and their processing status."""
