"""Custom Keras layers that saved models of this lab need, shared by the trainer and every reader.

Neither ``training`` nor ``serving`` owns them: a saved ``model.keras`` names
them, so both the side that builds models and the side that loads them import
``labkeras.layers`` (and nothing else of each other).
"""
