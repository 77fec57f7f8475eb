"""The association's view: the cockpit, the reports and the policy simulator (issue 18)."""
