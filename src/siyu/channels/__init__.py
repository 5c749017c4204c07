"""Channel adapters: the one interface every outgoing touch goes through (staff tasks, loopback, WeCom)."""
