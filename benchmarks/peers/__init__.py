"""One adapter per library: each translates the neutral workloads into that library's own terms."""
