"""Generation paths that go beyond the shared step-by-step sampler."""
