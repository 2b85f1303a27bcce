"""Quality-improvement cycles: goals from the catalogue, PDSA notes, progress, the quality grant."""
