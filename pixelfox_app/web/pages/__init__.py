"""Pages for users: login, upload, image pages and "my images"."""
