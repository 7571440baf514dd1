# FTPVM for Nuke: GUI start-up. Adds an FTPVM menu to the Nodes toolbar and the main menu bar,
# each with one entry that creates an FTPVMMatte node connected to the selected node.
import nuke

COMMAND = "import ftpvm_nuke.node; ftpvm_nuke.node.create()"

_toolbar = nuke.toolbar("Nodes").addMenu("FTPVM", icon="ftpvm.png")
_toolbar.addCommand("FTPVMMatte", COMMAND, icon="ftpvm.png")
nuke.menu("Nuke").addMenu("FTPVM").addCommand("FTPVMMatte", COMMAND)
