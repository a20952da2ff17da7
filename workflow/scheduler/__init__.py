"""Running the year unattended: sweeps, nodes and heartbeats, the daemon."""
