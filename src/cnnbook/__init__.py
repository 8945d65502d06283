"""cnnbook: the code behind the book on VGG and ResNet.

The package is the single home of every model, dataset, training loop and
analysis tool that the book's pages and the example scripts use.
"""

__version__ = "0.1.0"
