"""Server-rendered pages: shared rendering, base templates and static assets."""
