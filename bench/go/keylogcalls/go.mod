module keylogcalls

go 1.15
