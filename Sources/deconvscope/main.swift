print("deconvscope CLI is being wired")
