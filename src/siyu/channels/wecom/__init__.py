"""WeCom protocol: the API client, callback crypto and event parsing, and the WeCom channel adapter."""
