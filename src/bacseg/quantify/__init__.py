"""`bacseg quantify` for users outside the workflow: inputs found by content (sources), the project's or the
authors' inference recipe (recipes), and the loop writing the metrics table and overlays (run)."""
