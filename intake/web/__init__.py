"""The recruiters' workspace: a small server-rendered web app over what intake stores."""
