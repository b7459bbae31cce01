import CommandLineEntry

/// Every tool's stdout and stderr writer, under the name dmboot's commands use.
typealias Output = CommandLineEntry.Output
