"""The asyncio side of s3lite: an HTTP/1.1 engine on asyncio (httptools parses), the async
transport with the sync transport's retry decisions, streamed async responses, and the
driver that runs the same I/O-free operations as the sync sessions.

Nothing here is imported by `import s3lite`; the engine is the `s3lite[async]` extra.
"""
