"""The teaching instruments: gradient checks, the step-by-step trace, the chapter's experiments."""
