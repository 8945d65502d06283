# %% [markdown]
# # Build info
#
# This page is executed every time the site is built. Its output says which
# versions and which hardware computed the numbers on every other page.

# %%
from importlib import metadata

from IPython.display import display

from cnnbook import runinfo, show

details = runinfo.info()
display(show.table(sorted(details.items()), ["what", "value"], caption="This build"))

# %% [markdown]
# The site itself was rendered with these packages:

# %%
packages = [
    "mkdocs",
    "mkdocs-material",
    "mkdocs-jupyter",
    "jupytext",
    "torchinfo",
    "numpy",
    "matplotlib",
]
show.table(
    [(name, metadata.version(name)) for name in packages], ["package", "version"]
)
