"""Votes: rounds, ballots, show-of-hands tallies, the result rule. Used by proposals (a vote on
the proposal) and negotiation (a member vote on a counter-offer); it has no pages of its own."""
