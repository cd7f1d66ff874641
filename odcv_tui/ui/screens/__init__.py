"""One module per screen: runs, trajectory, compare, live, stats, welcome, label."""
