"""Pure analysis of saved runs: metrics, curves, figures, leaderboard and image helpers.

Nothing in this package imports Streamlit or TensorFlow: the dashboard pages call
these functions, and the tests call them on literal arrays.
"""
