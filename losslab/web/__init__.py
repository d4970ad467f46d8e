"""The HTTP edge: routes, request and answer schemas, middleware, the job pool and run queue,
the LLB1 wire format, and the server options. The engine and the landscapes know none of it."""
