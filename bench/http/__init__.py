"""HTTP submission benchmark: `POST /jobs` against a bare endpoint in the same uvicorn process, driven by wrk."""
