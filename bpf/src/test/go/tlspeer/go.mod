module tlspeer

go 1.15
