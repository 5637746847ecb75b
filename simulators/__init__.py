"""Stand-ins for the national and regional systems we cannot reach from here.

Each simulator is its own process speaking only the real protocol over a real socket; none of
them imports Sundhed's code.
"""
