"""Settings package: ``base`` reads everything from the environment; ``production`` hardens it;
``test`` points the suite at PostgreSQL and Redis."""
