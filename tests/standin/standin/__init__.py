# The Gmail API stand-in package: see ../gmail-standin and ../README.md.
