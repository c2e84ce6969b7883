"""Personal data protection: encryption at rest, residents' rights (what Pintu holds, erasure),
retention. docs/privacy.md is the inventory of what is kept, where, why and for how long."""
