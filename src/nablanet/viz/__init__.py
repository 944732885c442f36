"""Pictures of training: matplotlib figures and the self-contained HTML report."""
