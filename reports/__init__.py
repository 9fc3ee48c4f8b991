"""What the team reads: the daily and weekly digests (HTML and text), the CSV export, mail and chat pushes."""
