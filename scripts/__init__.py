"""The project's own tooling, run from the repository root. bench/ and tests/ may import it; it imports
neither."""
