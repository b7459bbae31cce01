DMBoot.runAndExit()
