"""Live rooms: one Yjs document each, its connections, awareness, and lifecycle."""
