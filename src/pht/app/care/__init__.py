"""The team's daily work: patients from the analytics, plans, tasks and recalls, activities."""
